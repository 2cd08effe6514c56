import { builtinModels } from '../sde/models/index.js';
import { PATH_BLOCK } from '../sde/shards.js';
import { BENCH_HELP } from './bench-help.js';

const MODELS = Object.keys(builtinModels).join(', ');

export const MAIN_HELP = `collapse: Monte Carlo estimates of stochastic collapse (Chen, Kunin, Yamamura, Ganguli 2023)

Integrates many independent Euler–Maruyama paths of an SDE model over a grid of noise levels and
counts, at chosen steps, how many paths have collapsed onto the model's invariant set (distance < ε).

Usage: collapse <command> [options]

Commands:
  sweep          collapse probability against noise: result.json, result.csv and a figure
  trajectories   sampled paths per noise level with the stationary density (Fig. 1, left)
  models         list the built-in models, their parameters and suggested settings
  train          SGD on a network (mnist-cnn, mlp, vgg16, resnet18) and a dataset: metrics, curves, weights
  analyze        collapse of trained weights: vanishing and identical neurons per layer, distance matrices
  compare        fraction of independent neurons per layer across training runs (by learning rate / label noise)
  bench          measure the kernels on this machine: rates, fraction of its ceilings, peers
  merge          join the shards of a sweep (sweep --shard K/N) into its result files
  status         which shards of a Slurm sweep (or a folder of shards) are done, running, failed
  worker         compute sweep shards from a Redis queue (sweep --redis)
  reproduce      the paper's experiments, one command per figure: figures, data and a report with verdicts
  help [command] this text, or a command's help

Options:
  -h, --help     help (also after a command: collapse sweep --help)
  -v, --version  print the version

Examples:
  collapse sweep --model quartic --set mu=1.5 --noise 0:3:100 --paths 1000 --out out/quartic
  collapse trajectories --model quartic --noise 0.1,1,2.5 --paths 50 --steps 10000
  collapse train --model mnist-cnn --data mnist --lr 0.05 --momentum 0.9 --batch 128 --steps 600 --out out/mnist
  collapse reproduce all --scale quick --out out/repro
  collapse analyze out/mnist --out out/mnist-analysis
  collapse sweep --noise 0:3:100 --slurm --shards 20 --out out/q --wait        # a sweep on a Slurm cluster

Exit codes: 0 done, 2 bad input or an unusable --out (nothing written), 74 a full or failing disk (nothing
half-written; run again), 130 interrupted (resume with --resume), 1 unexpected error (set COLLAPSE_DEBUG=1 to see
its stack).
`;

const BACKENDS = `Backends (--backend):
  auto     the default: webgpu on a hardware GPU adapter, else the native C++ addon (all cores), else js
  webgpu   WGSL compute shaders through Dawn (also on a software adapter, where it is slow)
  native   the C++ addon; --threads N sets its thread count (default: all cores)
  js       plain TypeScript, the reference: slow, for small problems and checks
  Every backend draws the same random numbers (Philox4x32-10), so counts agree up to float rounding.
  Dawn, the WebGPU runtime, prints "Warning: maxDynamic...BuffersPerPipelineLayout artificially reduced"
  on stderr when it opens an adapter (auto and webgpu do): it is harmless and can be ignored.`;

/** What the theory fields of result.json mean (the same in every model). */
export const THEORY_HELP = `Theory in result.json (theory.points[k], one per noise level; a field is absent where no form is known):
  alpha              Theorem 4.1's α along the coordinate z that decides collapse (quartic θ; neuron u = w₁ + w₂ or
                     v = w₁ − w₂, whichever is less attracted; teacher–student s = s_u s_v): near the invariant set
                     dz = z(a dt + g dB) and α = g²/2 − a. α > 0: the set attracts. Quartic ζ²/2 − μ, neuron
                     (Σx²/m)(α − |r|), teacher–student ησ² − 2ŝ*
  lyapunov           exponent of |z| per unit time in continuous time, a − g²/2 = −α
  lyapunovEM         the exponent of the scheme that is run: E ln|1 + a·dt + g√dt ξ| / dt, ξ ~ N(0,1), by
                     quadrature; the slope of E ln|z| that the simulation shows (it differs from lyapunov at O(dt))
  lyapunovU, lyapunovV, lyapunovUEM, lyapunovVEM
                     neuron: the exponents along u = w₁ + w₂ and v = w₁ − w₂ (continuous, and of the scheme)
  probability        predicted P(distance < ε) at each --record step, for the scheme at this --dt, valid at every
                     noise level and time (quartic: the Fokker–Planck equation of ln|θ| from the initial law, on
                     both sides of ζ_c); result.csv's theoryProbability
  stationaryProbability
                     lim t→∞ of P(distance < ε) in continuous time (quartic below ζ_c: P(ν, ε/ζ²)); near a
                     threshold it is not reached in any simulated time
  stationaryMean, stationarySecondMoment, stationaryVariance
                     moments of the distance's stationary law, where there is one
theory.threshold is the paper's closed-form threshold; theory.facts.thresholdEM, where lyapunovEM changes sign,
is the threshold of the scheme at this --dt.`;

export const SWEEP_HELP = `collapse sweep: collapse probability against noise

For each noise level of the grid, integrates --paths independent paths of the model's SDE for --steps
steps of size --dt (Euler–Maruyama), and at each --record step counts the paths whose distance to the
invariant set is below --epsilon (collapsed) and those that blew up (diverged, never counted as collapsed).
The probability comes with a 95 % Wilson interval and, where the model has one, the closed-form
threshold and prediction from the paper's theory.

Usage: collapse sweep --noise GRID [options]

Options:
  --model NAME      model: ${MODELS} (default quartic); see 'collapse models'
  --set NAME=VALUE  a model parameter, repeatable (default: the model's; e.g. --set mu=1.5)
  --noise GRID      required: values of the swept parameter, a comma-separated list (0.5,1,2) and/or
                    a linspace a:b:n (n points from a to b, both ends included: 0:3:100)
  --sweep PARAM     the parameter --noise sweeps (default: the model's noise parameter, e.g. zeta); not one
                    the model fixes when it is built (e.g. the neuron's data size m); not also given to --set
  --paths N         paths per noise level (default 1000)
  --steps N         steps per path (default: the model's, quartic 80000)
  --dt H            step size (default: the model's, quartic 0.0025)
  --record LIST     steps at which to count, comma-separated, each ≤ --steps
                    (default: the model's that are ≤ --steps, plus --steps; quartic 10000,20000,40000,80000)
  --epsilon E       collapse threshold on the model's distance (default: the model's, quartic 1e-30 on θ²)
  --seed S          random seed, an integer in [0, 2^32) (default 1); same seed ⇒ same counts
  --backend B       auto | webgpu | native | js (default auto; see below)
  --threads N       threads of the native backend (default: all cores)
  --out DIR         output folder (default out/<model>); created if missing
  --batch N         grid points per checkpointed batch (default: adaptive, about 3 s per batch)
  --resume          continue an interrupted sweep in --out from its checkpoint (same options required)
  --force           replace the finished sweep (or start over the unfinished one) that --out holds
  --quiet           no progress bar and no summary on stdout
  -h, --help        this help

Beyond one machine (see 'Running on a cluster' in the README):
  --shard K/N       compute only shard K of N (1 ≤ K ≤ N) into --out (DIR/shard.json); 'collapse merge' joins
                    the N folders into exactly the unsharded result. Shards are a balanced cut of grid points ×
                    blocks of ${PATH_BLOCK} paths (a grid point's paths are split only past ${PATH_BLOCK} of them), so
                    N is at most grid points × ceil(paths / ${PATH_BLOCK}). Any scheduler that hands out an index
                    can run them (Slurm arrays, Kubernetes indexed Jobs, AWS Batch arrays; from a 0-based index
                    write --shard $((INDEX + 1))/N)
  --slurm           submit the sweep to Slurm with sbatch: DIR/slurm/shards.sbatch (an array job, one task per
                    shard, into DIR/shards/K) and DIR/slurm/merge.sbatch (afterok: writes DIR/result.json ...);
                    prints the job ids. The jobs run this node and this collapse (absolute paths in the
                    scripts): DIR and the installation must be on file systems the compute nodes share
  --shards N        with --slurm: the number of array tasks (required); with --redis: jobs in the queue
                    (default: one per grid point or path block, at most 256)
  --slurm-args "…"  extra sbatch options for both jobs, e.g. "--partition=gpu --time=2:00:00 --cpus-per-task=8"
                    (a shard's native backend uses --threads, else SLURM_CPUS_PER_TASK, else all cores)
  --wait            with --slurm: follow the jobs with a progress bar until the merged result exists (exit 0),
                    or report the failed shards (exit 1); Ctrl-C stops following, not the jobs
  --redis URL       queue the shards on Redis (BullMQ) for 'collapse worker' processes anywhere, collect their
                    results as they finish (kept in DIR/checkpoint.json: --resume after Ctrl-C), and write the
                    result files; a worker that dies mid-shard loses the shard to another worker. Only this
                    process writes DIR. --backend/--threads are the workers' options here
  --queue NAME      with --redis: the queue's name (default collapse); workers must use the same

Files written to DIR (each written to a temporary file, then renamed: never half-written):
  result.json       the full result: noise, record, paths, collapsed[noise][record], diverged, probability,
                    lower/upper (95 % Wilson), distance moments, theory (threshold, predictions), backend;
                    nothing that depends on the clock: two runs with the same options give the same bytes
  run.json          this run's metadata: version, backend, device, date, elapsed seconds, path-steps/s
  result.csv        one row per (noise, record): noise, step, time, paths, collapsed, diverged, probability,
                    lower, upper, meanDistance, meanLogDistance, theoryProbability (when the model has one)
  collapse.svg/png  probability against noise, one curve per recorded step, Wilson bands, the threshold
  checkpoint.json   only while running or after an interruption; removed on success; checksummed, and checked
                    in full before --resume uses it
The result files replace the old ones as one step (a killed run leaves the old set or, once the next run into
DIR finishes the step, the new set). A run holds DIR/.collapse.lock: a second run into DIR is refused.

Interrupting: Ctrl-C stops after saving the finished grid points in DIR/checkpoint.json and exits 130; run the
same command plus --resume to compute only the missing points (the result is identical to an uninterrupted run).
A folder holding a checkpoint is not overwritten without --resume (or --force to start over), nor one holding a
finished result without --force.

${THEORY_HELP}

Progress: a bar on stderr when stderr is a terminal (grid points, %, ETA, path-steps/s); none otherwise.

${BACKENDS}

Examples:
  # Fig. 1 right panel (8·10⁹ path-steps): the paper's settings are the quartic model's defaults
  collapse sweep --model quartic --set mu=1.5 --noise 0:3:100 --paths 1000 --steps 80000 --dt 0.0025 \\
    --record 10000,20000,40000,80000 --epsilon 1e-30 --seed 1 --out out/quartic
  # a quick look on the reference backend
  collapse sweep --noise 1,1.5,2,2.5,3 --paths 200 --steps 4000 --record 1000,4000 --backend js --out /tmp/q
  # the same sweep as 4 shards anywhere, then merged: the same result.csv, byte for byte
  for k in 1 2 3 4; do collapse sweep --noise 1,1.5,2,2.5,3 --paths 200 --steps 4000 --record 1000,4000 \
    --backend js --shard $k/4 --out /tmp/q4/shard-$k; done
  collapse merge /tmp/q4/shard-* --out /tmp/q4
  # on Slurm, 20 array tasks and a merge job; then on a Redis queue with workers elsewhere
  collapse sweep --noise 0:3:100 --slurm --shards 20 --slurm-args "--time=1:00:00" --out out/q --wait
  collapse worker --redis redis://queue-host:6379 &     # on each worker machine
  collapse sweep --noise 0:3:100 --redis redis://queue-host:6379 --out out/q
`;

export const MERGE_HELP = `collapse merge: join the shards of a sweep into its result

Reads the shard folders (each written by 'collapse sweep ... --shard K/N --out DIR'), checks that they are
shards of one sweep (same options), that none overlaps another and that together they cover every grid point
and path, and writes result.json, result.csv, collapse.svg/png and run.json into --out: exactly what the
unsharded sweep writes (counts and every byte of result.csv; run.json lists the shards, their machines and
times). Any complete set merges, also shards of different N. Nothing is written when a check fails: the message
names the folders and what is wrong (another sweep's shard, a shard given twice, the missing shards).

Usage: collapse merge DIR... --out DIR [--force]

  DIR...        shard folders, or folders whose subfolders are shards (e.g. a Slurm sweep's DIR/shards)
  --out DIR     required: the folder for the merged result (not one of the shard folders)
  --force       replace the finished sweep --out holds
  --quiet       no summary on stdout
  -h, --help    this help

Examples:
  collapse merge out/q/shard-1 out/q/shard-2 out/q/shard-3 --out out/q
  collapse merge out/q/shards --out out/q
`;

export const STATUS_HELP = `collapse status: where a sweep beyond one machine stands

For a Slurm sweep (made with collapse sweep --slurm --out DIR): each shard is done (DIR/shards/K/shard.json),
pending, running, failed (with Slurm's state, the exit code and its log DIR/slurm/logs/shard-K.out) or missing
(never started: cancelled, or lost with its node), and the merge job. '--resubmit' reruns only the failed and
missing shards, as one array job, with a new merge job after them (and after the shards still queued or
running); a shard killed mid-way continues from its checkpoint. For any other folder of shards (--shard K/N
run by another scheduler): which are finished, which are unfinished and which indices are missing.

Usage: collapse status DIR [--resubmit] [--wait] [--json]

  --resubmit          rerun the failed and missing shards and the merge (Slurm sweeps)
  --slurm-args "…"    with --resubmit: sbatch options replacing those the sweep was submitted with
  --wait              follow the Slurm jobs until the merged result exists (exit 0) or something failed (exit 1)
  --json              machine-readable report
  --quiet             no progress bar or summary with --wait
  -h, --help          this help

Environment: COLLAPSE_SLURM_POLL_SECONDS (default 5) sets how often --wait asks squeue.

Examples:
  collapse status out/q
  collapse status out/q --resubmit --wait
  collapse status out/q4            # shards from --shard K/N in out/q4/*
`;

export const WORKER_HELP = `collapse worker: compute sweep shards from a Redis queue

Takes shards queued by 'collapse sweep ... --redis URL' from Redis (BullMQ), computes each on this machine's
backend and sends the result back through Redis; the submitting process collects and writes it (a worker never
writes files). Run as many workers as you like, on any machines that reach the Redis server; each holds a lock
on the shards it computes, renewed while it works: when a worker dies, its shards go back to the queue once
the lock expires (--lock-seconds) and another worker computes them (the result is the same to the bit, on the
same backend). Runs until Ctrl-C or SIGTERM: it then finishes the shards in hand and leaves (a second signal
leaves at once; those shards are recomputed elsewhere).

Usage: collapse worker --redis URL [options]

  --redis URL         required: redis://[user:password@]host:port[/db] (rediss:// for TLS)
  --queue NAME        queue name (default collapse; the same as the sweep's --queue)
  --concurrency C     shards computed at once (default 1); each has its own engine
  --backend B         auto | webgpu | native | js (default auto)
  --threads N         threads of the native backend per shard (default: the cores / C)
  --lock-seconds S    how long a shard stays locked without a sign of life before it is handed to another
                      worker (default 30)
  --quiet             no log lines (one per shard started and finished)
  -h, --help          this help

Examples:
  collapse worker --redis redis://queue-host:6379 --backend native
  collapse worker --redis redis://queue-host:6379 --concurrency 4 --backend js
`;

export const TRAJECTORIES_HELP = `collapse trajectories: sampled paths for a few noise levels (Fig. 1, left panels)

Integrates --paths paths per noise level and samples each about 1000 times (every --every steps), then
draws one panel per noise level: θ against time, thin semi-transparent lines. For the quartic model each
panel has beside it the stationary density p(θ) ∝ |θ|^(2μ/ζ²−2) e^(−θ²/ζ²), normalized numerically on a
grid over [−2, 2]; for ζ ≥ √(2μ) there is none (the paths collapse onto 0) and the panel says so. Other
models show their first state component, without a density.

Usage: collapse trajectories --noise LIST [options]

Options:
  --model NAME      model: ${MODELS} (default quartic)
  --set NAME=VALUE  a model parameter, repeatable (e.g. --set mu=1.5)
  --noise LIST      required: the noise levels, one panel each (list and/or linspace a:b:n, at most 12)
  --sweep PARAM     the parameter --noise sets (default: the model's noise parameter)
  --paths N         paths drawn per noise level, 1..1000 (default 50)
  --steps N         steps per path (default: the model's first recorded step, quartic 10000 as in Fig. 1)
  --dt H            step size (default: the model's, quartic 0.0025)
  --every N         sample every N steps (default: steps/1000, rounded, at least 1)
  --seed S          random seed (default 1)
  --backend B       auto | webgpu | native | js (default auto)
  --threads N       threads of the native backend
  --out DIR         output folder (default out/<model>-trajectories)
  --force           replace the trajectories --out holds
  --quiet           no summary on stdout
  -h, --help        this help

Files written to DIR (together, as one step; see 'collapse sweep --help'):
  trajectories.svg/png  the figure
  trajectories.json     the samples: times, values[noise][path][sample][component], and the densities drawn

${BACKENDS}

Examples:
  collapse trajectories --model quartic --set mu=1.5 --noise 0.1,1,2.5 --paths 50 --steps 10000 --dt 0.0025 \\
    --seed 1 --out out/fig1-left
  collapse trajectories --model neuron --noise 0.5,2 --paths 20 --backend js --out /tmp/neuron
`;

export const MODELS_HELP = `collapse models: list the built-in models

Prints each model: its SDE in words, its parameters (default, description, allowed range), the parameter
--noise sweeps, the distance that defines collapse, and the suggested run settings (the paper's) that
sweep uses when --steps/--dt/--record/--epsilon are omitted.

Usage: collapse models [--json]

${THEORY_HELP}

Options:
  --json       machine-readable output
  -h, --help   this help

Examples:
  collapse models
  collapse models --json
`;

export const TRAIN_HELP = `collapse train: SGD on a network and a dataset, as the paper trains them (PAPER.md §5)

Usage: collapse train [--model NAME] [--data NAME] [options] --out DIR

Network and data:
  --model NAME        mnist-cnn (default), mlp, vgg16, resnet18
  --width W           channel multiplier of vgg16/resnet18 (default 1 = the paper's; 0.25 trains on a CPU)
  --widths A,B,..     hidden widths of mlp (default 256,256); --activation relu|gelu|tanh (default relu)
  --data NAME         mnist (default; ships with the package), cifar10, cifar100 (need --data-dir), synthetic
  --data-dir DIR      folder with the CIFAR binary batches (data_batch_1.bin ... test_batch.bin, or train.bin
                      and test.bin for CIFAR-100); nothing is ever downloaded
  --pad P             zero-pad images by P pixels per side (default 2 for vgg16/resnet18 on mnist: 32×32)
  --augment KIND      none, or crop-flip (random 32×32 crop with 4-pixel padding + horizontal flip; the
                      default for CIFAR)

Optimizer (torch.optim.SGD: heavy-ball momentum, no dampening, coupled weight decay):
  --lr LR             base learning rate (default 0.05)
  --momentum M        default 0.9
  --weight-decay WD   default 0 (the paper: 5e-4)
  --batch B           minibatch size (default 128); each epoch is a seeded shuffle, the last partial batch dropped
  --steps N           optimizer steps (default 600)
  --warmup N          linear warm-up from 0 over N steps (the paper: 1000)
  --drops S1,S2,..    multiply the rate by --gamma (default 0.1) at these steps
  --label-noise P     each drawn example's label is replaced by another class with probability P (default 0)
  --seed S            seeds the initial weights and the data order (default 1)

Run:
  --backend B         auto (default), webgpu, native, js; --threads N for native
  --evaluate-every N  read the training loss and evaluate the test set every N steps (default steps/10)
  --eval-batch N      test batch size (default 1000)
  --checkpoint-every N  write checkpoints/step-N.safetensors every N steps (default steps/4; 0: none)
  --out DIR           output folder (default out/train-<model>)
  --resume DIR        continue the run in DIR from its newest checkpoint (same settings); the final weights
                      equal an uninterrupted run's
  --force             replace a finished or unfinished run in --out
  --quiet             no progress bar or summary

Writes into DIR:
  metrics.csv         step, lr, train loss/accuracy (mean over the steps since the last row), test loss/accuracy
  summary.json        settings, steps, trainLoss, testLoss, testAccuracy, stepsPerSecond (training loop only),
                      backend, device, seed
  training.png/.svg   loss and accuracy curves
  model.safetensors   the final weights in PyTorch's names and layouts (conv [out,in,kh,kw], linear [out,in],
                      BatchNorm running_mean/running_var/num_batches_tracked): model.load_state_dict takes them
  checkpoints/step-N.safetensors   weights + momenta (optimizer.momentum_buffer.<name>) + data position

Ctrl-C stops after the current step and writes its checkpoint; --resume DIR continues. A loss that
becomes NaN or infinite stops the run (exit 2) and names the last good checkpoint.

Examples:
  collapse train --model mnist-cnn --data mnist --lr 0.05 --momentum 0.9 --batch 128 --steps 600 --seed 3 --out out/mnist
  collapse train --model vgg16 --width 0.25 --data cifar10 --data-dir ~/data/cifar-10-batches-bin \\
      --lr 0.1 --weight-decay 5e-4 --warmup 1000 --batch 256 --steps 20000 --out out/vgg
  collapse train --resume out/vgg
`;

export const REPRODUCE_HELP = `collapse reproduce: the paper's experiments, one command per figure, with a report

Runs one of the paper's experiments end to end (PAPER.md §3) and writes its figures (PNG + SVG), the raw data
(JSON/CSV) and report.md: what was run (the command, backend, wall time), the measured numbers, the closed-form
theory and the paper's values side by side, and a verdict per claim, decided by a stated statistical test.

Usage: collapse reproduce <name> [options]      one reproduction into --out
       collapse reproduce all [options]         every one in turn into --out/<name>, then index.md + index.html
       collapse reproduce list [--json]         the reproductions and their settings at both scales

Reproductions:
  fig1   Fig. 1: the quartic SDE: trajectories with stationary densities; P(θ² < ε) against ζ at four times,
         ζ_c = √(2μ) and the finite-time theory
  fig2   Fig. 2: the single tanh neuron: final weights over the loss landscape; P(‖w‖ < ε) against α with the
         threshold Σxy/Σx² (Theorem 5.1) at the paper's record times
  fig3   Fig. 3: distance matrices (incoming / outgoing) of a shallow and two deep layers of a trained VGG-16
  fig4   Fig. 4: the fraction of independent neurons per layer against the learning rate and the label noise
  fig5   Fig. 5: the linear teacher–student with label noise (256 seeds × 5 σ on the device in one batch):
         train/test loss with the learning-rate drop, learned vs empirical singular values against the
         soft threshold ŝ* − ησ²/2, regrowth after the drop
  fig6   Fig. 6: phase 1 at a large lr, phase 2 fine-tuned from several drop steps: test accuracy and collapse
  toy    appendix: two GELU neurons with heavy-ball momentum: ‖w₁ − w₂‖² over steps for the lr and σ sweeps
  fig3, fig4 and fig6 train VGG-16 (GELU, PAPER.md §5.1): quick is a narrow one on MNIST (32×32) for a few
  thousand steps, which moves the nearest-neighbour distances but too little to merge neurons; paper is
  CIFAR-10 (--data-dir) at full width for 10⁵–10⁶ steps (days on a CPU, hours on a GPU)

Options:
  --scale S         quick (default: minutes on 2 CPU cores) or paper (the paper's full size); 'list' shows both
  --set NAME=VALUE  change one setting of the scale, repeatable (lists: a,b,c or a linspace a:b:n); with all,
                    name the reproduction: --set fig1.paths=200
  --seed S          seed of every random draw (default 1); same seed and settings ⇒ same numbers
  --backend B       auto | webgpu | native | js (default auto); --threads N for native
  --data-dir DIR    the CIFAR binary batches, for the reproductions that train on CIFAR
  --out DIR         output folder (default out/repro/<name>, or out/repro for all)
  --resume          continue an interrupted run in --out from its checkpoint (same options required)
  --force           replace the finished run (or start over the unfinished one) that --out holds
  --quiet           no progress and no summary
  -h, --help        this help

Files written to DIR (each written to a temporary file, then renamed together as one step):
  report.md         the report: command, backend, wall time, claims with measured / theory / paper / verdict,
                    the figures, tables of numbers, the settings, where this differs from the paper's code
  result.json       settings, claims and measured numbers (no timings: two runs give the same bytes)
  run.json          command, version, backend, device, wall and compute seconds
  <figure>.png/svg  the figures
  *.csv, *.json     the raw data of each figure (listed in the report)
  checkpoint.json   only while running or after an interruption: the finished stages; removed on success
With all: DIR/<name>/ for each, and DIR/index.md + DIR/index.html (self-contained, figures inline).

Interrupting: Ctrl-C stops after saving the finished stages in checkpoint.json and exits 130; the same command
plus --resume computes only what is missing and gives exactly the numbers of an uninterrupted run. A folder with
a checkpoint is not overwritten without --resume (or --force), nor one with a finished run without --force.

Progress: a bar on stderr when it is a terminal (stages, %, ETA, the stage at work).

Verdicts: reproduced (every sub-check of the claim passes its tolerance), partly reproduced (most do), not
reproduced, inconclusive (too little data at these settings). Tolerances are stated in each report and derive
from the Monte Carlo error (binomial standard errors, standard errors over seeds or paths).

Examples:
  collapse reproduce fig1 --out out/repro/fig1
  collapse reproduce fig2 --scale paper --backend native
  collapse reproduce fig1 --set paths=200 --set zeta=1:2.5:16 --out /tmp/fig1
  collapse reproduce all --scale quick --out out/repro
  collapse reproduce all --scale quick --out out/repro --resume
`;

const ANALYSIS_SETTINGS = `Measures (PAPER.md §4):
  --tau T           two neurons are identical when their normalized distance
                    d(a, b) = 2‖a − b‖² / (‖a‖² + ‖b‖² + ε) of concatenated vectors is below T (default 0.1)
  --vanish V        a neuron vanishes when its concatenated vector's norm is below V × the layer's largest
                    (default 0.1); vanishing neurons are left out of the grouping but counted in the fraction
  --epsilon E       ε of the distance (default 1e-8)
  --layers A,B,..   analyse only these layers (default: every layer but the last of the chain)`;

export const ANALYZE_HELP = `collapse analyze: how collapsed a trained network is (PAPER.md §4)

For every layer (a convolution's output channels, a linear layer's units), each neuron has an incoming vector
(its filter or weight row, then its bias), an outgoing vector (the next layer's weights that read it: W[:, c]
of the next convolution, the columns of channel c in the linear layer after a flatten) and their
concatenation. The normalized distances between neurons, d = 0 for identical and 2 for orthogonal vectors of
equal norm, are computed by the engine's neuron_distances kernel (by differences, so near-identical neurons keep
their accuracy). Per layer: the vanishing neurons, the paper's greedy count of independent neurons (and
connected components beside it), the fraction of independent neurons, the effective rank, and the paper's
Fig. 3 pair: incoming and outgoing distance matrices in the order of average-linkage clusters.

Usage: collapse analyze CHECKPOINT [options] --out DIR

CHECKPOINT          a model.safetensors or checkpoints/step-N.safetensors written by collapse train, a run
                    folder (its model.safetensors), or a safetensors file trained elsewhere with --layer-map
  --layer-map FILE  JSON naming the layers of a file trained elsewhere, in order (the last only supplies the
                    outgoing vectors of the one before):
                      {"layers": ["features.0", "features.2", ..., "classifier.6"]}      (module prefixes:
                                     weight PREFIX.weight, bias PREFIX.bias when the file has it), or
                      {"layers": [{"name": "conv1", "weight": "features.0.weight", "bias": "features.0.bias"}, ...]}
                    A PyTorch VGG-16 saved with safetensors.torch.save_file(model.state_dict(), ...): features.0,
                    .2, .5, .7, .10, .12, .14, .17, .19, .21, .24, .26, .28, classifier.0, .3, .6 (see README.md).
                    Leave out residual shortcuts and BatchNorm (the paper ignores them).

${ANALYSIS_SETTINGS}

Output:
  --figures LIST    layers whose distance-matrix pair is drawn: all (default), none, or names
  --matrices        also write distances.safetensors: <layer>.incoming/.outgoing/.concatenated (K × K, F32)
                    and <layer>.order (I32)
  --out DIR         output folder (default out/analysis-<file name>)
  --force           replace the analysis --out holds
  --backend B       auto | webgpu | native | js (default auto); --threads N for native
  --quiet           no progress and no summary

Files written to DIR (together, as one step):
  report.json       per layer: neurons, dims, tensors used, vanishing (indices), independent, fraction,
                    components, componentFraction, effectiveRank, groups (each identical group: key first),
                    clusters, order, clusterSizes; the source file (sha256, model, step) and the settings
  layers.csv        one row per layer: the counts and fractions
  fractions.png/.svg  fraction of independent neurons per layer (greedy grouping and connected components)
  distances-<layer>.png/.svg  the Fig. 3 pair: incoming and outgoing distance matrices, colour scale [0, 2.5]
  run.json          backend, device, date, seconds

Where this differs from the paper's code (PAPER.md §6): conv13 gets its own concatenated vectors (the code
reused conv12's), layers keep their own names (the code shifted ResNet's by one), vanishing is judged on the
concatenated vector (the code's HEAD; its published figures used the incoming one), one ε = 1e-8 everywhere.

Examples:
  collapse train --model mnist-cnn --lr 0.1 --label-noise 0.5 --steps 2000 --out out/noisy
  collapse analyze out/noisy --out out/noisy-analysis
  collapse analyze vgg16.safetensors --layer-map vgg16-map.json --layers features.28 --out out/vgg
`;

export const COMPARE_HELP = `collapse compare: fraction of independent neurons across training runs (the paper's Fig. 4)

Analyses the final weights of each run (as 'collapse analyze', concatenated distances only), groups the runs by
the setting that differs between them (the learning rate or the label noise read from their summary.json)
and draws the fraction of independent neurons per layer, one line per group, mean ± standard deviation
(ddof = 0) over the runs of a group (replicates, e.g. different --seed).

Usage: collapse compare RUN_DIR... [options] --out DIR

RUN_DIR             folders written by collapse train (summary.json and model.safetensors), one network
  --group-by G      auto (default: the setting that varies; both when both do), lr, label-noise

${ANALYSIS_SETTINGS}

Output:
  --out DIR         output folder (default out/compare)
  --force           replace the comparison --out holds
  --backend B       auto | webgpu | native | js (default auto); --threads N for native
  --quiet           no progress and no summary

Files written to DIR (together, as one step):
  compare.json      per run: its settings and per-layer counts and fractions; per group: mean, std and
                    replicates per layer (greedy and connected components)
  compare.csv       one row per (group, layer): mean, std, replicates
  fractions.png/.svg  the figure
  run.json          backend, device, date, seconds

Example (a learning-rate sweep, two seeds each):
  for lr in 0.01 0.1; do for s in 1 2; do
    collapse train --model mlp --widths 64,64 --lr $lr --seed $s --steps 1000 --out out/lr$lr-s$s; done; done
  collapse compare out/lr*-s* --out out/lr-sweep
`;

export const HELP: Readonly<Record<string, string>> = {
  reproduce: REPRODUCE_HELP, train: TRAIN_HELP, analyze: ANALYZE_HELP, compare: COMPARE_HELP, sweep: SWEEP_HELP, trajectories: TRAJECTORIES_HELP, models: MODELS_HELP, bench: BENCH_HELP, merge: MERGE_HELP, status: STATUS_HELP, worker: WORKER_HELP,
};
