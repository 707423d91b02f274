package runtime

// SplitEveryStep makes it split every step over its workers from the first
// Invoke on, skipping the timed Invokes, so tests of thread counts run the
// parallel path whatever the machine's dispatch cost.
func SplitEveryStep(it *Interpreter) { it.splitAll = true }
