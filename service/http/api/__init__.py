"""The API's routes, one module per feature: request and response models and a Controller."""
