import sys

from latentebm.reporting.pipeline import main

sys.exit(main())
