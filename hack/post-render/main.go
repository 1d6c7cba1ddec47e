// caelus-post-render: the post-renderer helm runs for every install/upgrade,
// a thin client of the operator process that started helm.
//
//	caelus-post-render <socket> [args…]   (stdin: the rendered manifests)
//
// It forwards args and stdin over the Unix socket (in the operator's private
// 0700 work dir) to the server in the operator (src/helm/post-render/server.ts),
// which labels and checks the manifests with the TypeScript code already warm
// there, and writes back what the Node post-renderer would have printed:
// stdout, stderr and the exit code. Starting this instead of Node saves ~100 ms
// of CPU per upgrade. Frames (integers big-endian uint32):
//
//	request:  argc, then per arg: length, bytes; then stdin until end of stream
//	response: exit code (1 byte), stderr length, stderr bytes; then stdout until end
//
// Only the standard library: built by hack/build-go-helpers.sh.
package main

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
)

func fail(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "caelus post-renderer: "+format+"\n", a...)
	os.Exit(1)
}

func main() {
	if len(os.Args) < 2 {
		fail("usage: caelus-post-render <socket> [args…]")
	}
	conn, err := net.Dial("unix", os.Args[1])
	if err != nil {
		fail("cannot reach the operator: %v", err)
	}
	uc := conn.(*net.UnixConn)
	w := bufio.NewWriterSize(uc, 64*1024)
	args := os.Args[2:]
	n := make([]byte, 4)
	binary.BigEndian.PutUint32(n, uint32(len(args)))
	w.Write(n)
	for _, a := range args {
		binary.BigEndian.PutUint32(n, uint32(len(a)))
		w.Write(n)
		w.WriteString(a)
	}
	if _, err := io.Copy(w, os.Stdin); err != nil {
		fail("reading the manifests: %v", err)
	}
	if err := w.Flush(); err != nil {
		fail("sending to the operator: %v", err)
	}
	if err := uc.CloseWrite(); err != nil {
		fail("sending to the operator: %v", err)
	}

	r := bufio.NewReaderSize(uc, 64*1024)
	head := make([]byte, 5)
	if _, err := io.ReadFull(r, head); err != nil {
		fail("no answer from the operator: %v", err)
	}
	stderr := make([]byte, binary.BigEndian.Uint32(head[1:]))
	if _, err := io.ReadFull(r, stderr); err != nil {
		fail("incomplete answer from the operator: %v", err)
	}
	if _, err := io.Copy(os.Stdout, r); err != nil {
		fail("incomplete answer from the operator: %v", err)
	}
	os.Stderr.Write(stderr)
	os.Exit(int(head[0]))
}
