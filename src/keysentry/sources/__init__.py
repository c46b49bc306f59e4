"""Where bytes come from: files and directories, stdin, and git."""
