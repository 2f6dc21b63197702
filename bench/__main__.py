from bench.core_ext_bench import main

raise SystemExit(main())
