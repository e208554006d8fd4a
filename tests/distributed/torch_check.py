"""By hand, where torch is installed (its CPU wheel is too large for CI):

    KERAS_BACKEND=torch python tests/distributed/torch_check.py

Starts two processes with `torch.distributed` (gloo, 127.0.0.1), checks the
roles and that AgreeOnStop agrees a stop asked by rank 1 and a failure held
on rank 0 through `torch.distributed.all_reduce`, within 120 s.
"""

import os
import socket
import subprocess
import sys


def worker(rank, port):
    import torch.distributed as dist

    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank,
                            world_size=2)
    import keras

    import fastcallbacks
    from fastcallbacks import distributed

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    assert distributed.process_count(model) == 2
    assert distributed.process_index(model) == rank
    assert distributed.is_writer(model) is (rank == 0)
    agree = fastcallbacks.AgreeOnStop(timeout=60)
    agree.set_model(model)
    model.stop_training = rank == 1
    agree.on_epoch_end(0)
    assert model.stop_training is True, "the stop of rank 1 was not agreed"
    ckpt = fastcallbacks.ModelCheckpoint("/nonexistent-dir/m.keras")
    ckpt.set_model(model)
    if rank == 0:
        def fail(*args, **kwargs):
            raise OSError("disk full")
        ckpt._save_model = fail
    else:
        ckpt._save_model = lambda *args, **kwargs: None
    ckpt.on_epoch_end(1, {"val_loss": 1.0})
    try:
        agree.on_epoch_end(1)
    except distributed.DistributedFailure as e:
        assert "process 0: ModelCheckpoint.on_epoch_end: OSError: disk full" in str(e), e
        print(f"rank {rank}: ok: {e}", flush=True)
    else:
        raise AssertionError("no agreed failure")
    dist.destroy_process_group()


def main():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    procs = [subprocess.Popen([sys.executable, __file__, str(r), str(port)]) for r in (0, 1)]
    codes = []
    for p in procs:
        try:
            codes.append(p.wait(timeout=120))
        except subprocess.TimeoutExpired:
            for q in procs:
                q.kill()
            codes.append("hung")
    print("exit codes:", codes)
    return 0 if codes == [0, 0] else 1


if __name__ == "__main__":
    if len(sys.argv) == 3:
        worker(int(sys.argv[1]), int(sys.argv[2]))
    else:
        sys.exit(main())
