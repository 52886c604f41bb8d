"""The cases room: complaints, reports and appeals from the public, and what staff decided and did.

Interim Measures art. 15 asks for a complaint channel with a published process and a deadline; art. 14
for stopping, removing and reporting illegal content, model improvement, and sanctions. A case is one
complaint; its every change of state and every action taken on it is an entry in the audit chain. This
room never serves HTTP (see `hegui.web`) and never decides on its own: people decide, it records.
"""
