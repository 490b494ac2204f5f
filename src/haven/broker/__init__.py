"""RabbitMQ topology, confirmed publishing and consuming.

Built with the intake and worker issues.
"""
