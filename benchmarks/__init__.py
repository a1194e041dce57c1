"""asv benchmarks of paralleldot: numpy.dot against the futures split.

See common.py for the profiles (PARALLELDOT_BENCH_PROFILE), the inputs and
the base class; one bench_<area>.py module per area.
"""
