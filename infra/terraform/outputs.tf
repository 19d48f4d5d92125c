# Outputs of the validator + signer host module: how to reach the host and what it was made as.

output "instance_id" {
  description = "EC2 instance id of the validator host."
  value       = aws_instance.validator.id
}

output "public_ip" {
  description = "Public IPv4 address of the validator host (the node's peer-to-peer address)."
  value       = aws_instance.validator.public_ip
}

output "ssh_command" {
  description = "How the operator logs in (Debian's default user)."
  value       = "ssh admin@${aws_instance.validator.public_ip}"
}

output "security_group_id" {
  description = "Security group of the host, to reference from the monitoring or other validators' rules."
  value       = aws_security_group.validator.id
}

output "signer_mode" {
  description = "dev or prod, as the host was made; prod hosts wait for the operator's TLS files, PIN, policy and keys."
  value       = var.signer_mode
}
