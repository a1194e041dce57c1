import sys

from asv_offline import main

sys.exit(main())
