"""The simulated city: demo data (and later, simulated source systems) for cityhub.

``simcity.binhai`` generates Tianjin Binhai New Area, sized by the figures of the project's
seed document: 743 grid cells over the real district outline, 28 source systems, 2,701
quasi-financial firms, 916 hazardous-chemicals firms, 2,673 hazchem vehicles, 12 rivers, ...
"""
