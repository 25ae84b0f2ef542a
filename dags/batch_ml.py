"""Daily ML pipeline on AWS Batch, written as plain Python functions with ``@task.batch``.

``prepare`` makes a synthetic regression data set; ``train`` fits K linear models by gradient
descent in parallel, as ONE Batch array job on a GPU queue (each child reserves a GPU; the math
is plain Python, so the example needs no CUDA image); ``evaluate`` scores every model on the
validation split (one more array job); ``pick_best`` returns the winner, its score as the XCom
``score``. Every value travels through XCom: small ones inside the submissions, the data set
through S3 (``xcom_s3_prefix``).

The GPU compute environment and queue are declared here and ensured before training (nothing
is written once they match); ``keep_environment`` (default on) keeps them between runs.

Runs unchanged on the local emulator (``make demo``-style, GPUs recorded, not used) and on AWS:
set ``image`` (Python 3 + boto3, e.g. images/etl/Dockerfile), ``job_queue``, ``bucket``,
``job_role_arn`` (S3 access) and the network params.
"""

from __future__ import annotations

from typing import Any

import pendulum
from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook
from airflow.sdk import DAG, Param, task

from airflow_batch_plugin import BatchEnvironment, ComputeEnvironmentSpec, JobQueueSpec

GPU_QUEUE = "ml-gpu-queue"


@task
def network(params: dict[str, Any]) -> dict[str, Any]:
    """Find the subnets and security group of the named VPC (for the GPU compute environment)."""
    ec2 = AwsBaseHook(client_type="ec2").conn
    [vpc] = ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": [params["vpc_name"]]}])["Vpcs"]
    in_vpc = [{"Name": "vpc-id", "Values": [vpc["VpcId"]]}]
    groups = ec2.describe_security_groups(
        Filters=[*in_vpc, {"Name": "group-name", "Values": [params["security_group_name"]]}]
    )["SecurityGroups"]
    return {
        "subnets": [s["SubnetId"] for s in ec2.describe_subnets(Filters=in_vpc)["Subnets"]],
        "security_group_ids": [g["GroupId"] for g in groups],
    }


@task
def search_space(models: int) -> list[dict[str, Any]]:
    """Return K training configurations: learning rate, epochs and L2 penalty."""
    rates = (0.3, 0.1, 0.03, 0.01)
    return [
        {
            "model": i,
            "learning_rate": rates[i % len(rates)],
            "epochs": 60 + 40 * (i // 2),
            "l2": 0.001 * (i % 3),
        }
        for i in range(models)
    ]


@task.batch(vcpus=1, memory=1024, multiple_outputs=False)  # one XCom, the whole data set
def prepare(samples: int, features: int, noise: float, seed: int) -> dict[str, Any]:
    """Make ``samples`` rows of y = w·x + b + noise and split them 80/20 into train and validation."""
    import random

    rng = random.Random(seed)
    weights = [round(rng.uniform(-3, 3), 2) for _ in range(features)]
    rows = []
    for _ in range(samples):
        x = [round(rng.gauss(0, 1), 4) for _ in range(features)]
        y = sum(w * v for w, v in zip(weights, x, strict=True)) + 1.5 + rng.gauss(0, noise)
        rows.append((x, round(y, 4)))
    cut = int(samples * 0.8)
    train, validation = rows[:cut], rows[cut:]
    print(f"{samples} rows, {features} features, true weights {weights}, bias 1.5")
    return {
        "train": {"x": [x for x, _ in train], "y": [y for _, y in train]},
        "validation": {"x": [x for x, _ in validation], "y": [y for _, y in validation]},
        "true_weights": weights,
    }


@task.batch(job_queue=GPU_QUEUE, vcpus=4, memory=8192, gpus=1, array=True)
def train(data: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    """Fit one linear model by batch gradient descent (one child of the array job per config)."""
    import os

    x, y = data["train"]["x"], data["train"]["y"]
    n, k = len(x), len(x[0])
    weights, bias = [0.0] * k, 0.0
    rate, l2 = config["learning_rate"], config["l2"]

    def predict(row: list[float]) -> float:
        return sum(w * v for w, v in zip(weights, row, strict=True)) + bias

    for _ in range(config["epochs"]):
        gradient, bias_gradient = [0.0] * k, 0.0
        for row, target in zip(x, y, strict=True):
            error = predict(row) - target
            gradient = [g + error * v for g, v in zip(gradient, row, strict=True)]
            bias_gradient += error
        weights = [w - rate * (g / n + l2 * w) for w, g in zip(weights, gradient, strict=True)]
        bias -= rate * bias_gradient / n
    mse = sum((predict(row) - target) ** 2 for row, target in zip(x, y, strict=True)) / n
    child = os.environ.get("AWS_BATCH_JOB_ARRAY_INDEX")
    print(f"model {config['model']} (child {child}, GPUs reserved: 1): train MSE {mse:.4f}")
    return {"config": config, "weights": weights, "bias": bias, "train_mse": mse}


@task.batch(vcpus=1, memory=1024, array=True)
def evaluate(data: dict[str, Any], model: dict[str, Any]) -> dict[str, Any]:
    """Score one trained model on the validation split: mean squared error and R²."""
    x, y = data["validation"]["x"], data["validation"]["y"]
    errors = [
        sum(w * v for w, v in zip(model["weights"], row, strict=True)) + model["bias"] - target
        for row, target in zip(x, y, strict=True)
    ]
    mse = sum(error**2 for error in errors) / len(y)
    mean = sum(y) / len(y)
    r2 = 1 - sum(error**2 for error in errors) / sum((target - mean) ** 2 for target in y)
    print(f"model {model['config']['model']}: validation MSE {mse:.4f}, R² {r2:.4f}")
    return {"model": model["config"]["model"], "config": model["config"], "validation_mse": mse, "r2": r2}


@task.batch(vcpus=1, memory=512)
def pick_best(scores: list[dict[str, Any]]) -> dict[str, Any]:
    """Return the model with the lowest validation error: ``best_model``, ``score`` (R²), ``ranking``."""
    ranking = sorted(scores, key=lambda score: score["validation_mse"])
    best = ranking[0]
    print(f"best: model {best['model']} {best['config']}, R² {best['r2']:.4f}")
    return {
        "best_model": best["model"],
        "score": best["r2"],
        "validation_mse": best["validation_mse"],
        "config": best["config"],
        "ranking": [score["model"] for score in ranking],
    }


with DAG(
    dag_id="batch_ml",
    description="Train K models as one GPU array job with @task.batch, evaluate, pick the best",
    schedule="@daily",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    render_template_as_native_obj=True,  # "{{ params.samples }}" gives the function an int
    tags=["aws-batch", "example", "ml"],
    params={
        "job_queue": Param("airflow-batch-queue", type="string", description="CPU job queue"),
        "image": Param("airflow-batch-etl:latest", type="string", description="Python 3 + boto3"),
        "job_role_arn": Param("", type="string", description="IAM role with S3 access (AWS)"),
        "bucket": Param("airflow-batch-demo", type="string", description="for large XComs"),
        "models": Param(4, type="integer", minimum=1, maximum=10_000, description="K"),
        "samples": Param(1000, type="integer", minimum=10),
        "features": Param(3, type="integer", minimum=1),
        "noise": Param(0.3, type="number", minimum=0),
        "seed": Param(7, type="integer"),
        "vpc_name": Param("airflow-batch-vpc", type="string"),
        "security_group_name": Param("airflow-batch-sg", type="string"),
        "instance_role": Param("ecsInstanceRole", type="string", description="instance profile"),
        "service_role": Param("AWSBatchServiceRole", type="string"),
        "keep_environment": Param(True, type="boolean"),
    },
    default_args={
        # Every @task.batch of the DAG (and only they take these keywords).
        "job_queue": "{{ params.job_queue }}",
        "image": "{{ params.image }}",
        "job_role_arn": "{{ params.job_role_arn }}",
        "xcom_s3_prefix": "s3://{{ params.bucket }}/xcom",
        "poll_interval": 2,
    },
) as dag:
    net = network()
    gpus = ComputeEnvironmentSpec(
        name="ml-gpu",
        type="EC2",
        allocation_strategy="BEST_FIT_PROGRESSIVE",
        instance_types=["g4dn"],
        min_vcpus=0,
        max_vcpus=64,
        subnets=net["subnets"],
        security_group_ids=net["security_group_ids"],
        instance_role="{{ params.instance_role }}",
        service_role="{{ params.service_role }}",
        tags={"app": "batch-ml-example"},
    )
    environment = BatchEnvironment(
        compute_environments=[gpus],
        job_queues=[JobQueueSpec(name=GPU_QUEUE, priority=10, compute_environment_order=[gpus])],
    )
    setup, teardown = environment.setup_and_teardown(
        task_id_prefix="gpu_environment", keep="{{ params.keep_environment }}", poll_interval=2
    )
    net >> setup

    data = prepare(
        samples="{{ params.samples }}",
        features="{{ params.features }}",
        noise="{{ params.noise }}",
        seed="{{ params.seed }}",
    )
    models = train.partial(data=data).expand(config=search_space("{{ params.models }}"))
    scores = evaluate.partial(data=data).expand(model=models)
    best = pick_best(scores)
    setup >> models >> teardown
