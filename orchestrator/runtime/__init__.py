"""What ships in the image and runs one task: the runner (Lambda handler and ECS entry), the landing gate,
the run record. It imports only the foundation (errors, window, settings, config, landing_contract, protocol, aws)."""
