// Package workertest runs a piece of work again and again on several goroutines until the test
// says stop: the load the replica and reload tests keep up while they change something under it.
package workertest

import "sync"

// Start calls work on n goroutines, each again and again, until the returned stop is called;
// stop returns once every goroutine has finished the call it was in. Call stop exactly once.
func Start(n int, work func()) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				work()
			}
		})
	}
	return func() {
		close(done)
		wg.Wait()
	}
}
