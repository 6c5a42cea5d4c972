//go:build !linux

package service

import (
	"syscall"

	"sundial.dev/sundial/unit"
)

// Namespaces are Linux's, named as not honoured elsewhere.
const haveNamespaces = false

func (s *helperSetup) setUpNamespaces() *setupError { return nil }

func namespaceNeeded(x *unit.Confinement) bool { return false }

func userNamespace(attr *syscall.SysProcAttr, x *unit.Confinement, cred *syscall.Credential) {}
