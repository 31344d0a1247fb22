from gitstore.cli import main

raise SystemExit(main())
