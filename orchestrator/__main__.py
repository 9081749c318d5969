from orchestrator.cli.parser import main

raise SystemExit(main())
