import sys

from .cli.command import module_main

sys.exit(module_main())
