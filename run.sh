echo README-DONE; kill $(jobs -p) 2>/dev/null; wait
