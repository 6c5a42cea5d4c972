package api

import (
	"context"
	"net/http"
	"net/url"
	"strings"
)

// A Setting is one line of a unit file: Key=Value in [Section].
type Setting struct {
	Section string `json:"section"`
	Key     string `json:"key"`
	Value   string `json:"value"`
}

// A TransientUnit is a unit made on request, as systemd-run makes them:
// its name and its settings, in order, as the lines of its file.
type TransientUnit struct {
	Name     string    `json:"name"`
	Settings []Setting `json:"settings"`
	// Refused, if set, is what the manager refuses of the settings, found
	// by the client; the daemon says it after its checks of the unit's
	// name, as systemd sets a transient unit's properties after it.
	Refused string `json:"refused,omitempty"`
}

// Text is the settings as the lines of a unit file: each under a section
// header, written each time the section changes, with a blank line
// before each header but the first.
func (u TransientUnit) Text() string {
	var b strings.Builder
	section := ""
	for _, s := range u.Settings {
		if s.Section != section {
			if section != "" {
				b.WriteString("\n")
			}
			section = s.Section
			b.WriteString("[" + section + "]\n")
		}
		b.WriteString(s.Key + "=" + s.Value + "\n")
	}
	return b.String()
}

// A TransientRequest asks for transient units: the first is made and
// started, the others (a timer's service) made and loaded only.
type TransientRequest struct {
	Units []TransientUnit `json:"units"`
	// NoBlock returns once the start job is queued, not done.
	NoBlock bool `json:"no_block,omitempty"`
}

// TransientBackend makes transient units, and waits for units to end.
type TransientBackend interface {
	// Transient writes the units' files, loads them and starts the
	// first. A unit that exists already, or whose settings systemd
	// would refuse, fails the request (JobResult.Error) with nothing
	// made.
	Transient(ctx context.Context, req TransientRequest) (JobResult, error)
	// WaitInactive waits until a unit is inactive or failed, and
	// returns it as it was then, before it may be collected.
	WaitInactive(ctx context.Context, name string) (Unit, error)
}

func serveTransient(mux *http.ServeMux, b TransientBackend) {
	mux.HandleFunc("POST /v1/transient", func(w http.ResponseWriter, r *http.Request) {
		var req TransientRequest
		if !decode(w, r, &req) {
			return
		}
		res, err := b.Transient(r.Context(), req)
		reply(w, res, err)
	})
	mux.HandleFunc("GET /v1/wait", func(w http.ResponseWriter, r *http.Request) {
		u, err := b.WaitInactive(r.Context(), r.URL.Query().Get("unit"))
		reply(w, u, err)
	})
}

// Transient makes transient units and starts the first, as systemd-run
// does; see [TransientBackend].
func (c *Client) Transient(ctx context.Context, req TransientRequest) (JobResult, error) {
	var res JobResult
	err := c.do(ctx, http.MethodPost, "/v1/transient", req, &res)
	return res, err
}

// WaitInactive waits until the unit is inactive or failed and returns it
// as it was then: its Result, main process's exit and timestamps.
func (c *Client) WaitInactive(ctx context.Context, name string) (Unit, error) {
	var u Unit
	err := c.get(ctx, "/v1/wait?"+url.Values{"unit": {name}}.Encode(), &u)
	return u, err
}
