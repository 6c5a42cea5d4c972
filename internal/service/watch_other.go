//go:build !linux

package service

// awaitGone waits until the process, which is not a child of ours, is
// gone, polling; it reports false if the activation ended first.
func (r *Run) awaitGone(p *process) bool { return r.pollGone(p) }
