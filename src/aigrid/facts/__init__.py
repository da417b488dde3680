"""What a GPU node really is: facts gathered from NVML or nvidia-smi, compared to the blueprint."""
