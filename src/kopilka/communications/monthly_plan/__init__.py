"""The monthly plan of actions (SPEC §8.3): up to three mechanics a month, each with its goal, segment, mechanic (a
campaign, a mailing, a trigger journey, or words), communication and budget; and afterwards plan against fact
(`facts`): each mechanic's conversion and budget used (a journey's: members reached, messages sent, conversion and
revenue), the month's activity by weekday and hour, and the hours whose sends led to the most opens and purchases."""
