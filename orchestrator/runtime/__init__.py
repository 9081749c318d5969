"""What ships in the image and runs one task: the runner (Lambda handler and ECS entry), the run record, and the
functions the template names beside it. It imports only the foundation and the landing (`orchestrator.landing`)."""
