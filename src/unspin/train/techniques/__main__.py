"""`python -m unspin.train.techniques`: see `unspin.train.techniques.run`."""

from unspin.train.techniques.run import main

raise SystemExit(main())
