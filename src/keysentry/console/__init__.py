"""What a person sees and types while a command runs: the progress line, the
summary's words, and standard input that a Ctrl-C always interrupts."""
