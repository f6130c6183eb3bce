package main

import "syscall"

// physicalMemory is the machine's RAM in bytes, or 0 when it cannot be read.
func physicalMemory() uint64 {
	var si syscall.Sysinfo_t
	if err := syscall.Sysinfo(&si); err != nil {
		return 0
	}
	return uint64(si.Totalram) * uint64(si.Unit)
}
