"""`deploy`: render the definition, build and push the runner image, package and deploy the stack.

The steps are one list of commands (`steps`): `deploy` runs them in order from the project directory, and
`deploy --print` prints exactly them as a shell script instead (`script`):
1. `dbt parse`, then `python -m orchestrator render` of the state machine into target/statemachine.asl.json;
2. `docker build` infra/Dockerfile with the Redshift connection as build args, `docker push` to ECR;
3. read the pushed image's digest (the stack runs exactly that image in Lambda and ECS);
4. `aws cloudformation package` (uploads the definition file, DefinitionS3Location) and
   `aws cloudformation deploy` with the parameters;
5. `aws lambda invoke` of the docs function: dbt docs generated against Redshift, published to the bucket;
6. `aws cloudformation describe-stacks` piped into `python -m orchestrator write-config`: the stack's outputs
   become the [aws] table of store-sales.toml (what `orchestrator.config` reads).
`python` in a step is the interpreter running `deploy` (in the printed script: the one on the PATH).

Before any step, the settings are checked (`DeploySettings`): a bad value is refused with a UsageError naming
the option, what is wrong and what to give instead; nothing has run and nothing is written.
"""

from __future__ import annotations

import argparse
import difflib
import json
import re
import shlex
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import botocore
import botocore.session

from orchestrator import extras, settings
from orchestrator.config import CONFIG_FILE_NAME
from orchestrator.errors import DeployError, UsageError

TEMPLATE = Path("infra") / "template.yaml"
DEFINITION = Path("target") / "statemachine.asl.json"
DOCKERFILE = Path("infra") / "Dockerfile"
PACKAGED_TEMPLATE = Path("target") / "packaged-template.yaml"
DOCS_INVOKE_OUTPUT = Path("target") / "docs-invoke.json"
DIGEST_VARIABLE = "IMAGE_DIGEST"
ACCOUNT_VARIABLE = "ACCOUNT_ID"
PYTHON = "python"  # a step's interpreter: `run_command` runs the one running `deploy`
EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")
# The AWS services the deployment calls and the stack's resources live in (botocore's names); IAM is global.
STACK_SERVICES = (
    "sts",
    "ecr",
    "s3",
    "cloudformation",
    "lambda",
    "ecs",
    "stepfunctions",
    "scheduler",
    "events",
    "sns",
    "logs",
)

# Stack output -> key of the [aws] table of store-sales.toml (see orchestrator.config).
OUTPUT_KEYS = {
    "Region": "region",
    "StateMachineArn": "state_machine_arn",
    "ArtifactsUri": "artifacts_uri",
    "RedshiftClusterId": "redshift_cluster_id",
    "RedshiftWorkgroup": "redshift_workgroup",
    "RedshiftDatabase": "redshift_database",
    "RedshiftDbUser": "redshift_db_user",
    "ReportsSchema": "reports_schema",
    "LandingS3Uri": "landing_s3_uri",
}


@dataclass(frozen=True)
class DeploySettings:
    """Everything one deployment needs; names follow the template's parameters."""

    stack_name: str
    region: str
    package_bucket: str
    subnet_ids: tuple[str, ...]
    security_group_id: str
    redshift_host: str
    landing_s3_uri: str
    redshift_cluster_id: str = ""
    redshift_workgroup: str = ""
    redshift_workgroup_id: str = ""
    redshift_port: int = 5439
    redshift_database: str = "dev"
    redshift_db_user: str = "dbt_store_sales"
    redshift_schema: str = "store_sales"
    redshift_password_secret_arn: str = ""
    image_repository: str = "store-sales-runner"
    image_tag: str = "latest"
    schedule_time_zone: str = "UTC"
    schedule_enabled: bool = True
    alert_email: str = ""

    def __post_init__(self) -> None:
        if len(self.subnet_ids) < 2:
            raise UsageError(f"--subnet-ids needs two subnets (the Fargate tasks use two), got {list(self.subnet_ids)}")
        if bool(self.redshift_cluster_id) == bool(self.redshift_workgroup):
            raise UsageError("give either --redshift-cluster-id or --redshift-workgroup (with --redshift-workgroup-id)")
        if self.redshift_workgroup and not self.redshift_workgroup_id:
            raise UsageError("--redshift-workgroup needs --redshift-workgroup-id (the UUID in the workgroup ARN)")
        if not self.landing_s3_uri.startswith("s3://"):
            raise UsageError(f"--landing-s3-uri {self.landing_s3_uri!r} must be an s3:// folder")
        check_region(self.region, (*STACK_SERVICES, "redshift-serverless" if self.redshift_workgroup else "redshift"))
        zone_problem = settings.SCHEDULE_TIME_ZONE.problem(self.schedule_time_zone)
        if zone_problem is not None:
            raise UsageError(
                f"--schedule-time-zone {self.schedule_time_zone!r} {zone_problem}: give "
                f"{settings.SCHEDULE_TIME_ZONE.accepts()} (the zone of the daily 07:00 run and of the deadline)"
            )
        if self.alert_email and not EMAIL.fullmatch(self.alert_email):
            raise UsageError(
                f"--alert-email {self.alert_email!r} is not an e-mail address: give one like data-team@example.com "
                "(it is subscribed to the failure alerts), or leave the option out"
            )

    @property
    def registry(self) -> str:
        return f"${{{ACCOUNT_VARIABLE}}}.dkr.ecr.{self.region}.amazonaws.com"

    @property
    def image(self) -> str:
        return f"{self.registry}/{self.image_repository}:{self.image_tag}"

    def connection(self) -> dict[str, str]:
        """The Redshift connection the functions get (image build args = template environment)."""
        return {
            "STORE_SALES_REDSHIFT_HOST": self.redshift_host,
            "STORE_SALES_REDSHIFT_PORT": str(self.redshift_port),
            "STORE_SALES_REDSHIFT_CLUSTER_ID": self.redshift_cluster_id,
            "STORE_SALES_REDSHIFT_WORKGROUP": self.redshift_workgroup,
            "STORE_SALES_REDSHIFT_DATABASE": self.redshift_database,
            "STORE_SALES_REDSHIFT_DB_USER": self.redshift_db_user,
            "STORE_SALES_REDSHIFT_SCHEMA": self.redshift_schema,
            "AWS_REGION": self.region,
        }

    def parameters(self) -> dict[str, str]:
        """The stack's parameter values (ImageDigest is read after the push)."""
        return {
            "ImageRepositoryName": self.image_repository,
            "ImageDigest": f"${{{DIGEST_VARIABLE}}}",
            "SubnetIds": ",".join(self.subnet_ids),
            "SecurityGroupId": self.security_group_id,
            "RedshiftClusterId": self.redshift_cluster_id,
            "RedshiftWorkgroupName": self.redshift_workgroup,
            "RedshiftWorkgroupId": self.redshift_workgroup_id,
            "RedshiftHost": self.redshift_host,
            "RedshiftPort": str(self.redshift_port),
            "RedshiftDatabase": self.redshift_database,
            "RedshiftDbUser": self.redshift_db_user,
            "RedshiftSchema": self.redshift_schema,
            "RedshiftPasswordSecretArn": self.redshift_password_secret_arn,
            "LandingS3Uri": self.landing_s3_uri,
            "ScheduleTimeZone": self.schedule_time_zone,
            "ScheduleState": "ENABLED" if self.schedule_enabled else "DISABLED",
            "AlertEmail": self.alert_email,
        }


def check_region(region: str, services: Sequence[str]) -> None:
    """Refuse a region where botocore's own endpoint data (offline) has one of `services` in no partition."""
    session = botocore.session.get_session()
    partitions = session.get_available_partitions()
    offered = {
        service: {name for partition in partitions for name in session.get_available_regions(service, partition)}
        for service in services
    }
    missing = [service for service in services if region not in offered[service]]
    if not missing:
        return
    known = sorted(set().union(*offered.values()))
    source = f"botocore {botocore.__version__}'s endpoint data"
    if len(missing) == len(services):
        close = difflib.get_close_matches(region, known, n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise UsageError(
            f"--region {region!r} is not an AWS region{hint} ({source} has no region of that name): give one such "
            "as eu-west-1 or us-east-1; a region newer than this botocore needs an upgrade of boto3"
        )
    raise UsageError(
        f"--region {region!r} does not offer {', '.join(missing)}, which the stack needs ({source}): "
        "deploy to a region that offers every service of the stack"
    )


@dataclass(frozen=True)
class Step:
    """One command. `capture` names a variable set from its output; `stdin_from` pipes another command in."""

    description: str
    argv: tuple[str, ...]
    capture: str | None = None
    stdin_from: tuple[str, ...] | None = None

    def shell(self) -> str:
        command = " ".join(_quote(part) for part in self.argv)
        if self.stdin_from is not None:
            command = " ".join(_quote(part) for part in self.stdin_from) + " | " + command
        return f"{self.capture}=$({command})" if self.capture else command


def _quote(part: str) -> str:
    """shlex quoting that keeps ${VARIABLE} references expandable (double quotes)."""
    if "${" in part:
        return '"' + part.replace('"', '\\"') + '"'
    return shlex.quote(part)


def steps(config: DeploySettings, config_file: Path) -> list[Step]:
    """Every deployment command, in order, run from the project directory."""
    region = ("--region", config.region)
    build_args = [item for key, value in config.connection().items() for item in ("--build-arg", f"{key}={value}")]
    overrides = [f"{key}={value}" for key, value in config.parameters().items()]
    return [
        Step("parse the dbt project", ("dbt", "parse", "--quiet")),
        Step(
            "render the state machine definition from the dbt graph",
            (PYTHON, "-m", "orchestrator", "render", "--out", str(DEFINITION)),
        ),
        Step(
            "account of the credentials in use",
            ("aws", "sts", "get-caller-identity", "--query", "Account", "--output", "text", *region),
            capture=ACCOUNT_VARIABLE,
        ),
        Step(
            "log docker in to ECR",
            ("docker", "login", "--username", "AWS", "--password-stdin", config.registry),
            stdin_from=("aws", "ecr", "get-login-password", *region),
        ),
        Step(
            "build the runner image (dbt project parsed inside)",
            (
                "docker",
                "build",
                "--platform",
                "linux/amd64",
                "-f",
                str(DOCKERFILE),
                *build_args,
                "-t",
                config.image,
                ".",
            ),
        ),
        Step("push the image", ("docker", "push", config.image)),
        Step(
            "digest of the pushed image",
            (
                "aws",
                "ecr",
                "describe-images",
                "--repository-name",
                config.image_repository,
                "--image-ids",
                f"imageTag={config.image_tag}",
                "--query",
                "imageDetails[0].imageDigest",
                "--output",
                "text",
                *region,
            ),
            capture=DIGEST_VARIABLE,
        ),
        Step(
            "upload the state machine definition, write the packaged template",
            (
                "aws",
                "cloudformation",
                "package",
                "--template-file",
                str(TEMPLATE),
                "--s3-bucket",
                config.package_bucket,
                "--s3-prefix",
                config.stack_name,
                "--output-template-file",
                str(PACKAGED_TEMPLATE),
                *region,
            ),
        ),
        Step(
            "create or update the stack",
            (
                "aws",
                "cloudformation",
                "deploy",
                "--template-file",
                str(PACKAGED_TEMPLATE),
                "--stack-name",
                config.stack_name,
                "--capabilities",
                "CAPABILITY_IAM",
                "--no-fail-on-empty-changeset",
                *region,
                "--parameter-overrides",
                *overrides,
            ),
        ),
        Step(
            "generate the dbt docs against Redshift and publish them to the bucket",
            (
                "aws",
                "lambda",
                "invoke",
                "--function-name",
                f"{config.stack_name}-docs",
                "--cli-binary-format",
                "raw-in-base64-out",
                "--payload",
                "{}",
                *region,
                str(DOCS_INVOKE_OUTPUT),
            ),
        ),
        Step(
            f"write the stack outputs to {config_file} (its [aws] table: what every other command reads)",
            (PYTHON, "-m", "orchestrator", "write-config", "--config-file", str(config_file)),
            stdin_from=(
                "aws",
                "cloudformation",
                "describe-stacks",
                "--stack-name",
                config.stack_name,
                "--query",
                "Stacks[0].Outputs",
                "--output",
                "json",
                *region,
            ),
        ),
    ]


def script(config: DeploySettings, config_file: Path) -> str:
    """The plan as a POSIX shell script, run from the project directory."""
    lines = ["set -eu"]
    for step in steps(config, config_file):
        lines += [f"# {step.description}", step.shell()]
    return "\n".join(lines) + "\n"


def config_from_outputs(outputs: Sequence[Mapping[str, str]]) -> dict[str, str]:
    """The [aws] settings from `describe-stacks` outputs ([{"OutputKey": ..., "OutputValue": ...}])."""
    values = {OUTPUT_KEYS[o["OutputKey"]]: o["OutputValue"] for o in outputs if o["OutputKey"] in OUTPUT_KEYS}
    for required in ("region", "state_machine_arn", "artifacts_uri", "redshift_database"):
        if required not in values:
            raise DeployError(f"the stack has no output for {required!r}: is it a store sales stack?")
    return values


def config_toml(values: Mapping[str, str]) -> str:
    lines = ["[aws]"] + [f"{key} = {json.dumps(value)}" for key, value in sorted(values.items())]
    return "\n".join(lines) + "\n"


def write_config(outputs_json: str, config_file: Path) -> dict[str, str]:
    """Write the [aws] table from `describe-stacks --query Stacks[0].Outputs --output json`; returns its values."""
    if not outputs_json.strip():
        raise UsageError(
            "write-config read nothing on its standard input: the `aws cloudformation describe-stacks` piped into it "
            "printed nothing (did it fail above? a POSIX shell has no pipefail); nothing was written"
        )
    try:
        outputs = json.loads(outputs_json)
    except json.JSONDecodeError:
        outputs = None
    if not isinstance(outputs, list) or not all(isinstance(o, dict) and "OutputKey" in o for o in outputs):
        raise UsageError(
            "write-config reads the stack's outputs as JSON on its standard input: pipe `aws cloudformation "
            "describe-stacks --stack-name NAME --query Stacks[0].Outputs --output json` into it"
        )
    values = config_from_outputs(outputs)
    config_file.write_text(config_toml(values), encoding="utf-8")
    return values


Runner = Callable[[Sequence[str], str | None], str]


def run_command(argv: Sequence[str], stdin: str | None) -> str:
    """Run one command in the project directory (`python`: the interpreter running this one); its stdout, or
    DeployError with its stderr."""
    command = [sys.executable, *argv[1:]] if argv[0] == PYTHON else list(argv)
    try:
        result = subprocess.run(
            command, input=stdin, capture_output=True, text=True, check=False, cwd=settings.project_dir()
        )
    except FileNotFoundError:
        raise DeployError(f"{argv[0]} is not installed: deploying needs dbt, the AWS CLI v2 and docker") from None
    if result.returncode != 0:
        raise DeployError(f"`{' '.join(argv[:3])} ...` failed ({result.returncode}): {result.stderr.strip()[-2000:]}")
    return result.stdout


def execute(config: DeploySettings, config_file: Path, runner: Runner = run_command) -> str:
    """Run every step in order (the last writes `config_file`); returns the last one's output line."""
    extras.require_target_adapter(settings.dbt_target())  # the first step parses the project on that target
    variables: dict[str, str] = {}
    output = ""
    for step in steps(config, config_file):
        argv = [_expand(part, variables) for part in step.argv]
        stdin = runner([_expand(p, variables) for p in step.stdin_from], None) if step.stdin_from else None
        output = runner(argv, stdin)
        if step.capture:
            variables[step.capture] = output.strip()
    return output.strip()


def _expand(part: str, variables: Mapping[str, str]) -> str:
    for name, value in variables.items():
        part = part.replace(f"${{{name}}}", value)
    return part


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The `deploy` subcommand's options (one per DeploySettings field)."""
    parser.add_argument("--stack-name", default="store-sales", help="CloudFormation stack (default store-sales)")
    parser.add_argument("--region", required=True, help="AWS region, e.g. eu-west-1")
    parser.add_argument("--package-bucket", required=True, help="existing S3 bucket for `cloudformation package`")
    parser.add_argument("--subnet-ids", required=True, help="two private subnet ids, comma-separated")
    parser.add_argument("--security-group-id", required=True, help="security group of the runner")
    parser.add_argument("--redshift-host", required=True, help="Redshift endpoint host name")
    parser.add_argument("--landing-s3-uri", required=True, help="s3:// folder holding landing/ and reference/")
    parser.add_argument("--redshift-cluster-id", default="", help="provisioned cluster identifier")
    parser.add_argument("--redshift-workgroup", default="", help="Redshift Serverless workgroup name")
    parser.add_argument("--redshift-workgroup-id", default="", help="Redshift Serverless workgroup id (UUID)")
    parser.add_argument("--redshift-port", type=int, default=5439)
    parser.add_argument("--redshift-database", default="dev")
    parser.add_argument("--redshift-db-user", default="dbt_store_sales", help="database user of dbt (cluster)")
    parser.add_argument("--redshift-schema", default="store_sales", help="schema of the models and reports")
    parser.add_argument(
        "--redshift-password-secret-arn",
        default="",
        help='Secrets Manager secret {"username", "password"} to log in with instead of IAM authentication',
    )
    parser.add_argument("--image-repository", default="store-sales-runner", help="existing ECR repository")
    parser.add_argument("--image-tag", default="latest")
    parser.add_argument("--schedule-time-zone", default="UTC", help="IANA zone of the daily 07:00 run")
    parser.add_argument("--schedule-disabled", action="store_true", help="deploy with the daily run switched off")
    parser.add_argument("--alert-email", default="", help="e-mail subscribed to failure alerts")
    parser.add_argument("--print", action="store_true", help="print the commands instead of running them")
    parser.add_argument(
        "--config-file", type=Path, help="where to write the [aws] settings (default <project>/store-sales.toml)"
    )


def settings_from_args(args: argparse.Namespace) -> DeploySettings:
    return DeploySettings(
        stack_name=args.stack_name,
        region=args.region,
        package_bucket=args.package_bucket,
        subnet_ids=tuple(s.strip() for s in args.subnet_ids.split(",") if s.strip()),
        security_group_id=args.security_group_id,
        redshift_host=args.redshift_host,
        landing_s3_uri=args.landing_s3_uri,
        redshift_cluster_id=args.redshift_cluster_id,
        redshift_workgroup=args.redshift_workgroup,
        redshift_workgroup_id=args.redshift_workgroup_id,
        redshift_port=args.redshift_port,
        redshift_database=args.redshift_database,
        redshift_db_user=args.redshift_db_user,
        redshift_schema=args.redshift_schema,
        redshift_password_secret_arn=args.redshift_password_secret_arn,
        image_repository=args.image_repository,
        image_tag=args.image_tag,
        schedule_time_zone=args.schedule_time_zone,
        schedule_enabled=not args.schedule_disabled,
        alert_email=args.alert_email,
    )


@dataclass(frozen=True)
class DeployOptions:
    """What `deploy` was asked: the stack's settings, --print, --config-file."""

    settings: DeploySettings
    print_only: bool = False
    config_file: Path | None = None


@dataclass(frozen=True)
class WriteConfigOptions:
    """What `write-config` was asked: --config-file."""

    config_file: Path | None = None


def options_from_args(args: argparse.Namespace) -> DeployOptions:
    return DeployOptions(settings_from_args(args), args.print, args.config_file)


def command(options: DeployOptions) -> int:
    """The `deploy` subcommand: print the script, or run it; its last step writes the configuration file
    (default store-sales.toml in the project directory, where the steps run)."""
    target = options.config_file.resolve() if options.config_file is not None else Path(CONFIG_FILE_NAME)
    if options.print_only:
        print(script(options.settings, target), end="")
        return 0
    print(f"deployed {options.settings.stack_name}: {execute(options.settings, target)}")
    return 0


def config_command(options: WriteConfigOptions) -> int:
    """The `write-config` subcommand: the stack outputs on stdin become the [aws] table of its config file
    (default <project>/store-sales.toml)."""
    target = options.config_file or settings.project_dir() / CONFIG_FILE_NAME
    values = write_config(sys.stdin.read(), target)
    print(f"wrote {target}: state machine {values['state_machine_arn']}")
    return 0
