package main

import (
	"os"
	"runtime/pprof"
	"syscall"
	"time"
)

// ownCPU is the CPU time this process has used so far: on the idpgate side, what the mock
// IdP and the gateway that it runs in-process cost.
func ownCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// profileServers writes a CPU profile of this process (the mock IdP and the gateway) to path
// until the returned function is called.
func profileServers(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		_ = f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); _ = f.Close() }, nil
}
