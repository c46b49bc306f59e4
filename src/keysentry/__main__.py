from keysentry.cli import main

raise SystemExit(main())
