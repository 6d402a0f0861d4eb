package childproc

import (
	"net"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"
)

func TestStopKillsAChildThatIgnoresTheSignal(t *testing.T) {
	cmd := exec.Command("sh", "-c", `trap "" TERM; echo ready; exec sleep 30`)
	var out Output
	cmd.Stdout = &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	for out.String() != "ready\n" {
		time.Sleep(10 * time.Millisecond)
	}
	start := time.Now()
	Stop(cmd.Process, syscall.SIGTERM, exited, 200*time.Millisecond)
	if took := time.Since(start); took < 200*time.Millisecond || took > 10*time.Second {
		t.Fatalf("Stop returned after %v; want the grace period, then a kill", took)
	}
	if ws := cmd.ProcessState.Sys().(syscall.WaitStatus); !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("child ended with %v, want killed by SIGKILL", cmd.ProcessState)
	}
}

func TestStopLetsAChildExitOnTheSignal(t *testing.T) {
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	Stop(cmd.Process, os.Interrupt, exited, 10*time.Second)
	if ws := cmd.ProcessState.Sys().(syscall.WaitStatus); !ws.Signaled() || ws.Signal() != syscall.SIGINT {
		t.Fatalf("child ended with %v, want ended by SIGINT", cmd.ProcessState)
	}
}

func TestFreePortIsListenable(t *testing.T) {
	port, err := FreePort()
	if err != nil || port <= 0 {
		t.Fatalf("FreePort() = %d, %v", port, err)
	}
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		t.Fatalf("listening on the free port %d: %v", port, err)
	}
	_ = ln.Close()
}
