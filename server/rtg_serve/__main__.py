import sys

from rtg_serve.server import main

sys.exit(main())
