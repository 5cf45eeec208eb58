"""Start a local multi-node Ray cluster (several raylets on this machine) for the fleet tests.

Run by the test venv's Python: ``python ray_cluster.py NODES [ODD_DRIVER]``. Each node is a
separate raylet started with this process's environment at that moment, so the last node can
see another NVIDIA driver (the NVML stand-in reads FAKE_NVML_DRIVER). Prints the cluster address,
then waits: closing stdin shuts the cluster down (this process owns every Ray process it made).
"""

from __future__ import annotations

import os
import sys

from ray.cluster_utils import Cluster

STORE = 80 * 1024 * 1024  # the smallest object store Ray accepts is 75 MiB


def main() -> None:
    nodes = int(sys.argv[1])
    odd = sys.argv[2] if len(sys.argv) > 2 else ""
    args = {"num_cpus": 1, "object_store_memory": STORE}
    cluster = Cluster(initialize_head=True, head_node_args={**args, "include_dashboard": False})
    try:
        for i in range(1, nodes):
            if odd and i == nodes - 1:
                os.environ["FAKE_NVML_DRIVER"] = odd
            cluster.add_node(**args, resources={f"fleet-node-{i}": 1})
        cluster.wait_for_nodes()
        print(cluster.address, flush=True)
        sys.stdin.read()
    finally:
        cluster.shutdown()


if __name__ == "__main__":
    main()
