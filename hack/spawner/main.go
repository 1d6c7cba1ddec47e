// caelus-spawner: starts helm for the operator, so the operator never forks.
//
// Node starts every child with fork(), which copies the parent's page tables:
// at the 250–330 MiB an operator holds while it installs a fleet, that is about
// 6 ms of CPU in the operator, 6 ms more in the child, and 20–40 ms during which
// the operator's event loop waits, for every helm process. Go starts processes
// with clone(CLONE_VM|CLONE_VFORK), which copies nothing, from a process of a
// few MiB. One spawner per operator process (src/helm/spawner.ts), talking
// JSON lines over its stdin and stdout ([]byte fields are base64):
//
//	in:  {"id":1,"path":"/usr/bin/helm","args":[…],"env":["K=V",…],"stdin":"…"|null,"timeoutMs":600000,"killGraceMs":5000}
//	in:  {"id":1,"cancel":true}
//	out: {"id":1,"exitCode":0,"signal":"","stdout":"…","stderr":"…","timedOut":false,"canceled":false,"error":""}
//
// One "out" line per process, when it has ended (or could not start: "error").
// A deadline or a cancel sends SIGTERM, so helm can mark an in-flight release
// failed instead of leaving it pending, and SIGKILL after killGraceMs. The end
// of stdin (the operator exited, even by SIGKILL) ends the spawner; running
// children are left as they would have been as the operator's own.
//
// Only the standard library: built by hack/build-go-helpers.sh.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"sync"
	"syscall"
	"time"
)

type request struct {
	ID          uint64   `json:"id"`
	Cancel      bool     `json:"cancel,omitempty"`
	Path        string   `json:"path"`
	Args        []string `json:"args"`
	Env         []string `json:"env"`
	Stdin       []byte   `json:"stdin"`
	TimeoutMs   int64    `json:"timeoutMs"`
	KillGraceMs int64    `json:"killGraceMs"`
}

type response struct {
	ID       uint64 `json:"id"`
	ExitCode *int   `json:"exitCode"`
	Signal   string `json:"signal,omitempty"`
	Stdout   []byte `json:"stdout"`
	Stderr   []byte `json:"stderr"`
	TimedOut bool   `json:"timedOut,omitempty"`
	Canceled bool   `json:"canceled,omitempty"`
	Error    string `json:"error,omitempty"`
}

// Names as Node reports them (execa's result.signal).
var signalNames = map[syscall.Signal]string{
	syscall.SIGHUP: "SIGHUP", syscall.SIGINT: "SIGINT", syscall.SIGQUIT: "SIGQUIT", syscall.SIGILL: "SIGILL",
	syscall.SIGABRT: "SIGABRT", syscall.SIGBUS: "SIGBUS", syscall.SIGFPE: "SIGFPE", syscall.SIGKILL: "SIGKILL",
	syscall.SIGSEGV: "SIGSEGV", syscall.SIGPIPE: "SIGPIPE", syscall.SIGTERM: "SIGTERM",
}

type proc struct {
	cmd      *exec.Cmd
	grace    time.Duration
	once     sync.Once
	mu       sync.Mutex
	timedOut bool
	canceled bool
}

// stop asks the process to end (SIGTERM), then makes it (SIGKILL after the grace period).
func (p *proc) stop(canceled bool) {
	p.once.Do(func() {
		p.mu.Lock()
		if canceled {
			p.canceled = true
		} else {
			p.timedOut = true
		}
		p.mu.Unlock()
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		// After Wait has returned, Kill is a no-op: os.Process never signals a reaped pid.
		time.AfterFunc(p.grace, func() { _ = p.cmd.Process.Kill() })
	})
}

type spawner struct {
	mu    sync.Mutex // guards out and procs
	out   *bufio.Writer
	procs map[uint64]*proc
}

func (s *spawner) send(r response) {
	line, err := json.Marshal(r)
	if err != nil {
		line, _ = json.Marshal(response{ID: r.ID, Error: "encoding the result: " + err.Error()})
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.out.Write(line)
	s.out.WriteByte('\n')
	if err := s.out.Flush(); err != nil {
		// The operator is gone.
		os.Exit(0)
	}
}

func (s *spawner) start(req request) {
	cmd := exec.Command(req.Path, req.Args...)
	cmd.Env = req.Env
	if req.Stdin != nil {
		cmd.Stdin = bytes.NewReader(req.Stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	grace := time.Duration(req.KillGraceMs) * time.Millisecond
	// A grandchild still holding helm's output pipes must not hold the result back forever.
	cmd.WaitDelay = grace + time.Second
	if err := cmd.Start(); err != nil {
		s.send(response{ID: req.ID, Error: err.Error()})
		return
	}
	p := &proc{cmd: cmd, grace: grace}
	s.mu.Lock()
	s.procs[req.ID] = p
	s.mu.Unlock()
	var deadline *time.Timer
	if req.TimeoutMs > 0 {
		deadline = time.AfterFunc(time.Duration(req.TimeoutMs)*time.Millisecond, func() { p.stop(false) })
	}
	go func() {
		err := cmd.Wait()
		if deadline != nil {
			deadline.Stop()
		}
		s.mu.Lock()
		delete(s.procs, req.ID)
		s.mu.Unlock()
		p.mu.Lock()
		res := response{ID: req.ID, Stdout: stdout.Bytes(), Stderr: stderr.Bytes(), TimedOut: p.timedOut, Canceled: p.canceled}
		p.mu.Unlock()
		var exitErr *exec.ExitError
		if err != nil && !errors.As(err, &exitErr) && !errors.Is(err, exec.ErrWaitDelay) {
			res.Error = err.Error()
		}
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			res.Signal = signalNames[ws.Signal()]
			if res.Signal == "" {
				res.Signal = fmt.Sprintf("SIG%d", int(ws.Signal()))
			}
		} else {
			code := cmd.ProcessState.ExitCode()
			res.ExitCode = &code
		}
		s.send(res)
	}()
}

func main() {
	// Ctrl-C in a terminal reaches the whole process group: the operator shuts down
	// by closing stdin, and until then its helm processes must still be answered.
	// (Notify, not Ignore: an ignored signal would stay ignored in helm.)
	signal.Notify(make(chan os.Signal, 1), syscall.SIGINT, syscall.SIGTERM)
	s := &spawner{out: bufio.NewWriterSize(os.Stdout, 64*1024), procs: map[uint64]*proc{}}
	in := json.NewDecoder(bufio.NewReaderSize(os.Stdin, 64*1024))
	for {
		var req request
		if err := in.Decode(&req); err != nil {
			if !errors.Is(err, io.EOF) {
				fmt.Fprintf(os.Stderr, "caelus-spawner: reading a request: %v\n", err)
				os.Exit(2)
			}
			os.Exit(0)
		}
		if req.Cancel {
			s.mu.Lock()
			p := s.procs[req.ID]
			s.mu.Unlock()
			if p != nil {
				p.stop(true)
			}
			continue
		}
		s.start(req)
	}
}
