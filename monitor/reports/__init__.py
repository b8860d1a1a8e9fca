"""Report stage: the weekly trends report for marketing.

``figures`` computes the numbers in SQL, ``topics`` groups complaints into named root causes,
``charts`` draws them, ``html``/``pdf``/``table`` render the same report three ways, ``mail`` sends
it, ``registry`` remembers what was generated and sent, and ``weekly`` ties them together for the
CLI, the scheduler and the dashboard.
"""
