// Package web is the daemon's page, its Prometheus metrics and its
// health checks, served over HTTP by `sundial daemon --http=ADDR`.
//
// It reads what the manager exposes ([manager.Manager.Snapshot], its
// run history and journal) through a [Source], and keeps nothing of its
// own: the manager knows nothing of HTTP, HTML or Prometheus.
//
// # Routes
//
//   - / lists the timers as list-timers does, with a timeline of the
//     last and the next 24 hours: past runs as bars whose length is the
//     duration, failures hatched and crossed, skips hollow, catch-ups
//     marked, next elapses as diamonds. ?name= and ?state= filter it.
//   - /unit/NAME shows a unit's status, runs, duration trend and file;
//     /run/ID a run with its journal lines, which a small script
//     follows while it runs (the page needs no script).
//   - /badge/NAME.svg is a unit's last outcome as a badge.
//     Pages and badges are of the timers and services the daemon has
//     loaded: a reader does not make it load a unit.
//   - /metrics is Prometheus's text format (or protobuf, if asked;
//     gzipped if taken): the daemon's metrics, written from a snapshot
//     at each scrape straight to the response, and Go's and the
//     process's from a registry; for a node of a cluster, its node's
//     too, from the report its [ClusterSource] gives at once, of what
//     the node last saw: a scrape never waits for etcd.
//   - /healthz answers once the daemon's loop does; /readyz once it
//     runs and its store can be written, and for a node of a cluster,
//     once it has joined, its etcd endpoint is healthy and a leader of
//     the cluster's timers is known, saying what is missing otherwise.
//
// # Who may act
//
// Reading is open to whoever can connect. Acting (POST
// /unit/NAME/start, stop, trigger, skip) takes what the control socket takes:
// on a Unix socket, the daemon's user or root by their credentials; on
// TCP, the token the daemon writes beside its control socket, sent as
// the X-Sundial-Token header or the page's token field. Forms posted
// from another site are refused. The server has the control socket's
// limits on headers, bodies, time and connections.
//
// # Pages
//
// The templates are embedded and parsed at init, each page a set of its
// own with the layout. A page is built as a typed view from a snapshot
// and the time, every coordinate of its drawings computed in Go, then
// rendered to a buffer and sent whole, with relative links only.
package web
