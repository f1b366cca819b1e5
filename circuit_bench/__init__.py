"""The benchmark (`circuit-bench`, `make bench`): what the module costs, how fast it trips and recovers.

It stands above the sandbox (`circuit_sandbox`), whose emulator and applied instances it measures,
and holds a simulator for what the sandbox cannot play in real time (hours of traffic at up to
1000 calls/s):

- `simulation`: the real circuit code and the definition Terraform deployed, on a virtual clock;
- `asl`, `memory_table`: the simulator's two deliberate fast replicas, of moto's Step Functions
  interpreter and of DynamoDB's item operations; each is held to moto by a differential test
  (tests/circuit_bench/test_simulation.py, tests/circuit_bench/test_memory_table.py);
- `discrimination`, `alarm_odds`: false trips and trip times over traffic, simulated and computed;
- `costs`: the AWS prices the figures use;
- `bench`: the command, which runs them all and writes docs/benchmarks.md.
"""
