"""Detection: bytes -> hits. The engine (rules x bytes, no I/O), the scanner
(windows, decoders, locations), the rules loader, the literal search and the
placeholder model; and the commit hook's screen with its generated needle table."""
