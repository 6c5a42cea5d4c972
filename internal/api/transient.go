package api

import (
	"context"
	"net/http"
	"net/url"
)

// A Setting is one property of a transient unit, Key= in [Section], as
// systemd's StartTransientUnit takes them: typed values, never the text
// of a unit file. The daemon takes the settings systemd takes for the
// unit's type, checks each with the unit loader's own parser for it, and
// writes it escaped or quoted, so that no value becomes another setting.
type Setting struct {
	Section string `json:"section"`
	Key     string `json:"key"`
	// Value is the value, literally, as a unit file's line would hold
	// it once unquoted: a description, a path, a unit name, "yes",
	// "1min 30s"; for a command, its executable.
	Value string `json:"value"`
	// List is the items of the settings whose value is a list: the
	// assignments of Environment=; a command's arguments, the zeroth
	// included; the URLs of Documentation= and the paths of
	// RequiresMountsFor=, one each. Empty, it resets the list.
	List []string `json:"list,omitempty"`
	// Flags are a command's, in the words of systemd's ExecStartEx=:
	// "ignore-failure", "privileged", "no-setuid", "ambient",
	// "no-env-expand".
	Flags []string `json:"flags,omitempty"`
}

// A TransientUnit is a unit made on request, as systemd-run makes them:
// its name and its properties, in order.
type TransientUnit struct {
	Name     string    `json:"name"`
	Settings []Setting `json:"settings"`
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
