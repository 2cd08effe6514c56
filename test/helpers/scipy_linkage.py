#!/usr/bin/env python3
"""Test helper: reads {"cases": [{"count": n, "condensed": [...]}, ...]} as JSON on stdin and prints, for each case,
scipy.cluster.hierarchy.linkage(condensed, method='average') as a flat list, plus fcluster 'maxclust' labels when
"clusters" is given. Prints {"missing": reason} when SciPy is not importable by this interpreter."""
import json
import sys

try:
    import numpy as np
    import scipy
    from scipy.cluster.hierarchy import fcluster, linkage
except Exception as error:  # noqa: BLE001
    print(json.dumps({'missing': f'scipy not importable by {sys.executable}: {error}'}))
    sys.exit(0)

request = json.load(sys.stdin)
out = []
for case in request['cases']:
    y = np.asarray(case['condensed'], dtype=np.float64)
    z = linkage(y, method='average')
    item = {'z': z.ravel().tolist()}
    if 'clusters' in case:
        item['labels'] = fcluster(z, t=case['clusters'], criterion='maxclust').tolist()
    out.append(item)
print(json.dumps({'scipy': scipy.__version__, 'results': out}))
