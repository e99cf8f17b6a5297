package tensor

import "syscall"

// osYield gives the CPU to another runnable thread, of this process or
// another, if there is one (sched_yield); otherwise it returns at once.
// Polling workers call it so that they do not keep a core from other work
// when there are more busy threads than cores.
func osYield() { syscall.Syscall(syscall.SYS_SCHED_YIELD, 0, 0, 0) }
