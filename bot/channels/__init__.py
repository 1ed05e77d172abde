"""Messaging channels: Telegram (python-telegram-bot, talks to Rasa over REST),
Zalo Official Account (a Rasa custom input channel) and the notification
senders the dossier outbox uses to reach citizens on the channel they came from.

Nothing in this package is imported by Rasa itself except `bot.channels.zalo`
(through credentials.yml), so every module keeps its heavy imports local.
"""
