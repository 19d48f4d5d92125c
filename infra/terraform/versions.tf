# Terraform and provider versions of the validator + signer host module (AWS).
terraform {
  # lifecycle preconditions (main.tf) need 1.2; optional attributes and the rest are older.
  required_version = ">= 1.3"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.0"
    }
  }
}
