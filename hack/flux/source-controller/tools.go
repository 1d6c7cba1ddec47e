//go:build tools

// Package tools pins source-controller's main package so the module keeps its dependencies.
package tools

import (
	_ "github.com/fluxcd/source-controller"
)
