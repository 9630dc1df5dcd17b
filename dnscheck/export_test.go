package dnscheck

// E2EBinary is testBinary for the end-to-end tests, which are package
// dnscheck_test (see e2e_test.go).
var E2EBinary = testBinary
