//go:build !linux

package main

// physicalMemory is 0 where the RAM is not read: no default memory limit is set.
func physicalMemory() uint64 { return 0 }
