package console

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"testing"
)

// Idle connections, opened and silent or kept alive after a request, do
// not lock out the probe or a signed-in person: at the cap the longest
// idle one is closed. The cap is scaled down (50, with 200 connections)
// to keep the test's files bounded; the logic is the same at 1024 and
// 20,000.
func TestIdleConnectionsLeaveRoom(t *testing.T) {
	const maxConns, idle = 50, 200
	g := startGong(t)
	users := usersFile(t)
	c := startConsole(t, Config{Pipeline: g.pipeline(t, 200), Auth: &Auth{Users: users}, MaxConns: maxConns})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := c.srv.HTTPServer(c.srv.log)
	served := make(chan error, 1)
	go func() { served <- hs.Serve(c.srv.Listener(ln)) }()
	t.Cleanup(func() {
		hs.Close()
		<-served
	})
	addr := ln.Addr().String()

	var conns []net.Conn
	t.Cleanup(func() {
		for _, cn := range conns {
			cn.Close()
		}
	})
	for i := range idle {
		cn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		conns = append(conns, cn)
		if i%2 == 1 {
			continue // opened and silent
		}
		// A request answered, then the connection kept alive, idle.
		fmt.Fprintf(cn, "GET /healthz HTTP/1.1\r\nHost: %s\r\n\r\n", addr)
		res, err := http.ReadResponse(bufio.NewReader(cn), nil)
		if err != nil {
			// Closed to make room for a later one before it answered.
			continue
		}
		res.Body.Close()
	}
	if held := c.srv.conns.held(); held > maxConns {
		t.Errorf("the server holds %d connections, cap %d", held, maxConns)
	}

	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	res, err := client.Get("http://" + addr + "/healthz")
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("/healthz with %d idle connections: %v %v", idle, res, err)
	}
	res.Body.Close()
	req, _ := http.NewRequest("GET", "http://"+addr+"/api/v1/me", nil)
	req.SetBasicAuth("ops", "s3cret")
	res, err = client.Do(req)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("a signed-in request with %d idle connections: %v %v", idle, res, err)
	}
	res.Body.Close()
	if held, closed := c.srv.conns.held(), c.srv.conns.closedAtCap(); held > maxConns || closed < idle-maxConns {
		t.Errorf("held %d (cap %d), closed at the cap %d, want at least %d", held, maxConns, closed, idle-maxConns)
	}
	t.Logf("%d idle connections, cap %d: %d closed to make room, %d held", idle, maxConns, c.srv.conns.closedAtCap(), c.srv.conns.held())
}

func TestServerTimeouts(t *testing.T) {
	g := startGong(t)
	c := startConsole(t, Config{Pipeline: g.pipeline(t, 200)})
	hs := c.srv.HTTPServer(c.srv.log)
	if hs.ReadTimeout <= 0 || hs.ReadHeaderTimeout <= 0 || hs.IdleTimeout <= 0 || hs.WriteTimeout <= 0 || hs.MaxHeaderBytes <= 0 || hs.MaxHeaderBytes > 1<<20 {
		t.Errorf("server limits: read %v, header %v, idle %v, write %v, header bytes %d",
			hs.ReadTimeout, hs.ReadHeaderTimeout, hs.IdleTimeout, hs.WriteTimeout, hs.MaxHeaderBytes)
	}
}
