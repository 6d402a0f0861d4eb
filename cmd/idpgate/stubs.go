package main

import "errors"

// Temporary stand-ins until cmd/idpgate/mockidp.go and dev.go land; delete this file then.

func runMockIdP(args []string) error { return errors.New("mock-idp is not built yet") }

func runDev(args []string) error { return errors.New("dev is not built yet") }
