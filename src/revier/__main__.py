from revier.cli import main

raise SystemExit(main())
