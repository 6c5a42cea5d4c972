//go:build !linux

package service

import (
	"os"
	"syscall"

	"sundial.dev/sundial/unit"
)

// Namespaces are Linux's, named as not honoured elsewhere.
const haveNamespaces = false

func (s *helperSetup) setUpNamespaces() *setupError { return nil }

func namespaceNeeded(x *unit.Confinement) bool { return false }

// sharedNamespaces are never made here.
type sharedNamespaces struct{}

func sharesNamespaces() bool                                           { return false }
func makeSharedNamespaces(bool, bool) (*sharedNamespaces, *setupError) { return nil, nil }
func (*sharedNamespaces) in(f func() error) error                      { return f() }
func (*sharedNamespaces) close()                                       {}

func procInstance(Command) *os.File { return nil }

const procFD = -1

func userNamespace(attr *syscall.SysProcAttr, x *unit.Confinement, cred *syscall.Credential) {}
